"""Shipped split definitions and templates; read with importlib.resources.files(__name__)."""
