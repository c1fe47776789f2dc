"""The 7·20 seed data set of Zhengzhou High-tech Zone: a deterministic generator and its committed output."""
