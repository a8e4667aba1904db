"""Texts that more than one part of the assistant says, kept in one place."""

# Where to ask when the knowledge base names no contact (staff set theirs with `kb contacts add`).
CONTACT_FALLBACK = {"name": "政务服务热线", "phone": "12345"}
# Said by the channels when Rasa does not answer, and by the action when the knowledge base cannot be read.
MAINTENANCE = "系统正在维护，请稍后再试，或拨打12345政务服务热线。"
