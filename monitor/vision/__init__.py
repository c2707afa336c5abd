"""From pixels to labelled faces: detect, classify, track, the pipeline that composes them, drawing."""
