"""Audio capture: a sound input through PortAudio (sounddevice) into a ring buffer, or a file."""
