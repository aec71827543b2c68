"""The office's views after the fact: the Art. 20 conference review and the Art. 21–22 yearly evaluation."""
