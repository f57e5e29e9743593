"""leaderboard: index result records (SQLite), render tables (Markdown/HTML/CSV) and seaborn plots."""
