"""Knowledge: the service catalog (事项目录 with 办事指南), the FAQ base and the retriever over both."""
