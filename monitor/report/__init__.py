"""`monitor report`: runs, selection, statistics, charts and the text, JSON and HTML reports."""
