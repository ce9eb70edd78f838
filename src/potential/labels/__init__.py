"""Point-in-time labels: rolling cutoffs, churn and expansion targets, the training set and its audit."""
