"""The command dashboard: 13710 overdue lists, burn-down, ranking, restart curve, and commanding."""
