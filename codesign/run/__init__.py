"""Running a sweep: the trial pipeline (encode -> train -> quantize -> simulate -> objectives),
the sweep driver, the executors that run trials (local, processes, Dask) and its progress display."""
