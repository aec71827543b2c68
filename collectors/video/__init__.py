"""Video capture: V4L2 devices, files (video or still image) and network streams, via OpenCV."""

import os

# Joining a live H.264 stream mid-GOP makes FFmpeg print "non-existing PPS" until the next
# keyframe: expected, harmless, and noise in a technician's terminal or the journal.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
