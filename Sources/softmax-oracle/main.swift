print("softmax-oracle")
