"""Reading and writing what users hand us: images, .pts files, folders and manifests of faces, JSON."""
