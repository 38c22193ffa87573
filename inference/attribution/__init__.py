"""Attribution methods: gradient-influence sketches of LoRA adapters and verbatim span matching."""
