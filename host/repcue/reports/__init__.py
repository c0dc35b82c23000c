"""Results a runner reads: how hard each session was, the week against the anaerobic-dose
guidance, one workout over time, and the charts of them (matplotlib, the `[charts]` extra)."""
