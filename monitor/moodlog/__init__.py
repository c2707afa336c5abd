"""The mood log: its columns, the crash-safe writer, the reader, the UTC offsets it was written in."""
