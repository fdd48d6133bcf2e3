"""Operations: heartbeats of workers, beat and web processes, and the last run of each sync."""
