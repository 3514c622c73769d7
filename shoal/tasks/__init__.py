"""Task-type plugins. See `shoal.tasks.base` for the contract."""
