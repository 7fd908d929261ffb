"""A PoST data folder's files as post-rs writes them: the metadata file and the file names."""
