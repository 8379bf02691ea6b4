"""Studies: the trial record and its states, storage (SQLite or in memory), and what a study's
trials add up to (Pareto front, hypervolume curve, best values)."""
