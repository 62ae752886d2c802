"""Files shipped with the application: meta-adapter checkpoints, icons, example projects."""
