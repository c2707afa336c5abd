"""The modes (live, photos, folder of videos), each on the one frame loop."""
