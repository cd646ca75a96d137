"""Protocol bindings: HTTP and RabbitMQ (AMQP 0-9-1 through kombu)."""
