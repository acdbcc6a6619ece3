# Models arrive with the research issue.
