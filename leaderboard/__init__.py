"""leaderboard: result records, tables and plots (issue 5)."""
