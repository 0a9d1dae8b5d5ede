"""RFCnet: ResNet-50 backbone, RFC blocks (APU, foreground, SRFC, TRFC), losses."""
