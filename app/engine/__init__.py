"""The workflow state machine, as pure code: (state, input, now) -> (events, tasks,
timers). No I/O and no clock reads; time is passed in."""
