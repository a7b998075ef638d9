"""syndicator: publish every new post of a site's feeds to social platforms, exactly once."""

__version__ = "0.1.0"
