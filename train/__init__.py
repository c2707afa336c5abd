"""Training and evaluating the emotion CNN from folders of labelled pictures."""
