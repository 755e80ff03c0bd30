"""The chaos suite: real sync processes killed at random against a faulty sandbox."""
