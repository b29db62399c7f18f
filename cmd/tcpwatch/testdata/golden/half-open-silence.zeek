#separator \x09
#set_separator	,
#empty_field	(empty)
#unset_field	-
#path	conn
#open	2026-11-21-08-50-37
#fields	ts	uid	id.orig_h	id.orig_p	id.resp_h	id.resp_p	proto	service	duration	orig_bytes	resp_bytes	conn_state	local_orig	local_resp	missed_bytes	history	orig_pkts	orig_ip_bytes	resp_pkts	resp_ip_bytes	tunnel_parents
#types	time	string	addr	port	addr	port	enum	string	interval	count	count	string	bool	bool	count	string	count	count	count	count	set[string]
1795251037.351308	CU3JfJ2ZCZ4CLQUoQX	198.18.0.1	48866	198.18.0.2	8080	tcp	-	3.580367	21	13	S1	-	-	0	ShADadT	10	-	3	-	-
#close	2026-11-21-08-50-40
