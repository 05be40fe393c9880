"""Due process: the case framework, review, disputes, determinations and their notices."""
