"""Label Studio at the edge: the labeling config from the schema, export <-> articles, a local server."""

from rasid.labelstudio.config import config_differences, labeling_config
from rasid.labelstudio.convert import articles_to_tasks, export_to_articles, read_export

__all__ = ["labeling_config", "config_differences", "export_to_articles", "articles_to_tasks", "read_export"]
