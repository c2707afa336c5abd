"""From folders of labelled pictures to verified samples, splits and a streaming tf.data pipeline."""
