"""The HTML report of a study and its figures."""

from codesign.report.html import write_report

__all__ = ["write_report"]
