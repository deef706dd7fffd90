"""Commands of this stage (registered on the apps in ``_app``)."""
