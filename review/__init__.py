"""`occreid review`: people confirm and correct the occlusion tags in a browser."""
