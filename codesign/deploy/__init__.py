"""Leaving the study: pick a trial, write an export (netx network + run parameters), run it in Lava."""
