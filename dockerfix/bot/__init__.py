"""`dockerfix bot`: one optimisation pull request per repository, kept up to date; a thin shell over the pipeline."""
