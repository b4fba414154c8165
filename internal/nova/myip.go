package nova

import "net"

// MyIP is nova's my_ip: configured, or oslo's get_my_ipv4 (the local
// address of a UDP socket "connected" to a public address, which sends
// nothing), 127.0.0.1 when no route leads out.
func MyIP(configured string) string {
	if configured != "" {
		return configured
	}
	c, err := net.Dial("udp4", "8.8.8.8:80")
	if err != nil {
		return "127.0.0.1"
	}
	defer c.Close()
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok && a.IP != nil {
		return a.IP.String()
	}
	return "127.0.0.1"
}
