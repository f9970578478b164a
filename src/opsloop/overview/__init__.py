"""The console's home (概览): the workspace's key metrics with day-over-day and week-over-week
change and 30-day sparklines, and its recent activity."""
