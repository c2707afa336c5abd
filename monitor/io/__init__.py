"""Frames and pictures in and out: sources, picture files, the video sink, path checks, native log silencing."""
