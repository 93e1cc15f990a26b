import logging

logger = logging.getLogger(__name__)

def load(path):
    logger.info("loading {path} ")
    return open(path).read()
