"""The data that flows, the crop and split rules, errors: what every subsystem shares."""
