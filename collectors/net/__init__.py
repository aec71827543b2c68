"""Network path readings towards the conference's far end: ICMP or UDP echo, TCP reachability."""
