"""Stage images: jet images (preprocessing), the images store, image transforms and plots."""
