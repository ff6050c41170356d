"""How the reader's explanatory floor is chosen from a CT dev table (no model needed)."""

from evals.reader_eval import plateau_middle


def row(floor: float, acc: float, corr: float) -> dict:
    return {"floor": floor, "refusal_accuracy": acc, "answer_correctness": corr}


def test_a_flat_table_gives_the_middle_of_the_plateau_not_its_edge() -> None:
    floors = (0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.15, 0.2)
    table = [row(f, 0.87, 0.64) for f in floors] + [row(0.25, 0.83, 0.57)]
    assert plateau_middle(table) == 0.03  # sqrt(0.005 * 0.2) = 0.032


def test_the_best_refusal_accuracy_wins_before_correctness() -> None:
    table = [row(0.01, 0.80, 0.70), row(0.05, 0.85, 0.60), row(0.1, 0.85, 0.65), row(0.2, 0.84, 0.66)]
    assert plateau_middle(table) == 0.1


def test_a_single_best_floor_is_taken() -> None:
    assert plateau_middle([row(0.01, 0.8, 0.5), row(0.02, 0.9, 0.5), row(0.05, 0.8, 0.5)]) == 0.02
