package simkit

// Pages of an on-premises IIS server (Cityworks, ArcGIS Server) and of a throttling front end,
// as they arrive where a client expected JSON.
const (
	IIS500Page = `<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>500 - Internal server error.</title></head>
<body><div id="header"><h1>Server Error</h1></div><div id="content"><div class="content-container"><fieldset>
<h2>500 - Internal server error.</h2><h3>There is a problem with the resource you are looking for, and it cannot be displayed.</h3>
</fieldset></div></div></body></html>`
	IIS503Page = `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">
<HTML><HEAD><TITLE>Service Unavailable</TITLE><META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>
<BODY><h2>Service Unavailable</h2><hr><p>HTTP Error 503. The service is unavailable.</p></BODY></HTML>`
	IIS404Page = `<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>404 - File or directory not found.</title></head>
<body><div id="header"><h1>Server Error</h1></div><div id="content"><div class="content-container"><fieldset>
<h2>404 - File or directory not found.</h2><h3>The resource you are looking for might have been removed, had its name changed, or is temporarily unavailable.</h3>
</fieldset></div></div></body></html>`
	TooManyRequestsPage = `<html><head><title>429 Too Many Requests</title></head><body><h1>Too Many Requests</h1></body></html>`
)
