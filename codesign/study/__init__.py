"""Studies: the trial record and its states, storage (SQLite or in memory), and what a study's
trials add up to (Pareto front, hypervolume curve, best values)."""

from codesign.study.base import StudyStorage
from codesign.study.memory import InMemoryStudy
from codesign.study.storage import SQLiteStudy, Study
from codesign.study.trial import FINISHED, STATES, UNFINISHED, Trial

__all__ = ["FINISHED", "InMemoryStudy", "SQLiteStudy", "STATES", "Study", "StudyStorage", "Trial", "UNFINISHED"]
