"""The benchmark of issue 8 (``make bench``): the atlas against its fastest peers, same rows."""
